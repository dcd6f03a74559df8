//! Dialog state (being written).
