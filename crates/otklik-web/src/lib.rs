//! otklik-web (being written).
