//! The terminal explorer: scan progress, the model tree, edge panels, keyboard and mouse.
