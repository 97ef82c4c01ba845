//! Offline sync, the phone's way in: [`push`] applies batches of offline records through the same
//! operations as the single-record endpoints, and [`conflicts`] keeps the edits that met a newer
//! server version until someone settles them. (The way out, the change feed, is a read of
//! `models::sync`.)

pub mod conflicts;
mod kinds;
pub mod pull;
pub mod push;
