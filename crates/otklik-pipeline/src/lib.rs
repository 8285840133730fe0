//! Pipeline (being written).
