//! Writers for the recovered forest: Graphviz DOT and JSON.
