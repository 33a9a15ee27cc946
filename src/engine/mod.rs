//! The repository engine, on restic's repository format (version 2, reads version 1).
