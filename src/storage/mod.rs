//! Storage backends: the only module that names OpenDAL.
