//! otklik-route (being written).
