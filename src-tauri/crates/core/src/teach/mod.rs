//! The teaching views' data: the sequence diagram's pages of a source's packet log
//! ([`sequence`]), the embedded broker's routing explained and its latest routed messages for the
//! live map ([`routing`]; rebuilt from the packet log for a proxy: [`derived`]), and who is busy
//! ([`busy`]). Each answer is read on demand when a
//! pushed frame says something changed; nothing here runs on the message path except the broker's
//! own bounded routing record.

pub mod busy;
pub mod derived;
pub mod routing;
pub mod sequence;

#[cfg(test)]
mod tests;
