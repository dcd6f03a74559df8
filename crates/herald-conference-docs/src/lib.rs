//! Documents of group IM (being written).
