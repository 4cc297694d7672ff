//! The tables: the lead table's item format ([`item`]) and store ([`dynamodb`]), the DNC
//! register ([`register`]), and both in memory ([`memory`], for fast tests of the use cases).

pub mod dynamodb;
pub mod item;
pub mod memory;
pub mod register;
pub mod stream;

pub use dynamodb::DynamoLeadStore;
pub use memory::{MemoryDncRegister, MemoryLeadStore};
pub use register::DynamoDncRegister;
pub use stream::DynamoStreamReader;
