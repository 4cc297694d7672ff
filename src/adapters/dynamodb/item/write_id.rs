//! Which write put an item. Every conditional write of a lead or of a signal kept without a
//! lead carries a new random id; the SDK's retries of that call send the same request, so
//! the same id. A retry whose condition fails on an item bearing its own id met its own
//! earlier write: DynamoDB committed it and its answer was lost (a timeout, a 500). That
//! write is the delivery's, not another delivery's (docs/contract.md §2).

use super::*;

/// The attribute that names the write which put the item.
pub const WRITE_ID: &str = "writeId";

/// A new id for one write call: 128 random bits, in hex.
pub fn new_write_id() -> String {
    format!("{:032x}", fastrand::u128(..))
}

/// The item, marked as put by the write `id`.
pub fn stamped(
    mut item: HashMap<String, AttributeValue>,
    id: &str,
) -> HashMap<String, AttributeValue> {
    item.insert(WRITE_ID.to_owned(), AttributeValue::S(id.to_owned()));
    item
}

/// Was the item put by the write `id`?
pub fn written_by(item: &HashMap<String, AttributeValue>, id: &str) -> bool {
    item.get(WRITE_ID)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
        == Some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_item_is_known_by_the_write_that_put_it_and_by_no_other() {
        let (mine, theirs) = (new_write_id(), new_write_id());
        assert_ne!(mine, theirs);
        let item = stamped(HashMap::new(), &mine);
        assert!(written_by(&item, &mine));
        assert!(!written_by(&item, &theirs));
        assert!(!written_by(&HashMap::new(), &mine));
    }
}
