//! otklik-rules (being written).
