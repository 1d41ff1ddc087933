//! The demo zoo: model families made by real training, written as a Hugging Face hub cache.
