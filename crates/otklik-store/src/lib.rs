//! otklik-store (being written).
