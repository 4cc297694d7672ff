//! The register read whole or by phone, for the operator's `prove` and `export`
//! (docs/contract.md §8): read only.

use super::*;

/// One register item as `prove` and `export` read it: its phone, and its entry or why this
/// code cannot read it.
pub type ReadItem = (String, Result<RegisterEntry, String>);

fn read_item(item: HashMap<String, AttributeValue>) -> ReadItem {
    let phone = item
        .get(REGISTER_KEY)
        .and_then(|v| v.as_s().ok())
        .cloned()
        .unwrap_or_default();
    let entry = register_entry(item)
        .map(|(entry, _)| entry)
        .map_err(|e| e.to_string());
    (phone, entry)
}

/// Read only, for the operator's `prove` and `export` (docs/contract.md §8).
impl DynamoDncRegister {
    /// The phone's item as stored (one consistent GetItem): what the relay's load and
    /// `prove` read.
    pub(super) async fn item(
        &self,
        phone: &Phone,
    ) -> Result<Option<HashMap<String, AttributeValue>>, BackendError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(REGISTER_KEY, AttributeValue::S(phone.as_str().to_owned()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| {
                classify(
                    "DynamoDB GetItem (DNC register)",
                    "the register refuses the phone",
                    e,
                )
            })?;
        Ok(output.item)
    }

    /// The phone's entry (one consistent GetItem), or why it cannot be read.
    pub async fn find(
        &self,
        phone: &Phone,
    ) -> Result<Option<Result<RegisterEntry, String>>, BackendError> {
        Ok(self.item(phone).await?.map(|item| read_item(item).1))
    }

    /// How many entries DynamoDB last counted (it recounts about every six hours): for a
    /// progress bar, `None` if the table cannot be described.
    pub async fn approximate_entries(&self) -> Option<u64> {
        let output = self
            .client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
            .ok()?;
        output.table?.item_count.and_then(|n| u64::try_from(n).ok())
    }

    /// Every entry, by a parallel scan of `segments` segments, each page sent to `pages` as
    /// it comes (the channel's bound keeps memory flat whatever the register's size). Stops
    /// at the first segment that fails, or when `pages` is closed.
    pub async fn scan_all(
        &self,
        segments: u32,
        pages: tokio::sync::mpsc::Sender<Vec<ReadItem>>,
    ) -> Result<(), BackendError> {
        let segments = segments.max(1);
        let mut scans = tokio::task::JoinSet::new();
        for segment in 0..segments {
            let (register, pages) = (self.clone(), pages.clone());
            scans.spawn(async move { register.scan_segment(segment, segments, pages).await });
        }
        drop(pages);
        while let Some(done) = scans.join_next().await {
            let failed = match done {
                Ok(result) => result.err(),
                Err(e) => Some(BackendError::new(
                    "scanning the DNC register",
                    e.to_string(),
                )),
            };
            if let Some(e) = failed {
                scans.abort_all();
                return Err(e);
            }
        }
        Ok(())
    }

    async fn scan_segment(
        &self,
        segment: u32,
        segments: u32,
        pages: tokio::sync::mpsc::Sender<Vec<ReadItem>>,
    ) -> Result<(), BackendError> {
        let as_i32 = |n: u32| i32::try_from(n).unwrap_or(i32::MAX);
        let mut start = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.table)
                .segment(as_i32(segment))
                .total_segments(as_i32(segments))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| {
                    classify(
                        "DynamoDB Scan (DNC register)",
                        "the register cannot be read",
                        e,
                    )
                })?;
            let items = page.items.unwrap_or_default();
            if !items.is_empty()
                && pages
                    .send(items.into_iter().map(read_item).collect())
                    .await
                    .is_err()
            {
                return Ok(());
            }
            start = page.last_evaluated_key;
            if start.is_none() {
                return Ok(());
            }
        }
    }
}
