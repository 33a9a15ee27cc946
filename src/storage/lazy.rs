//! A backend that is built on first use, for services that must ask the server something
//! before an operator can exist (Swift's token and storage URL, B2's bucket id). Opening a
//! location stays synchronous and offline; a failed build is not cached, so the next call
//! tries again.
use std::future::Future;
use std::pin::Pin;

use async_trait::async_trait;
use bytes::Bytes;
use tokio::sync::OnceCell;

use super::OpendalBackend;
use crate::engine::backend::{Backend, BackendError, FileInfo, FileType};

type Init = Box<
    dyn Fn() -> Pin<Box<dyn Future<Output = Result<OpendalBackend, BackendError>> + Send>>
        + Send
        + Sync,
>;

pub struct LazyBackend {
    location: String,
    init: Init,
    cell: OnceCell<OpendalBackend>,
}

impl LazyBackend {
    pub fn new(
        location: String,
        init: impl Fn() -> Pin<Box<dyn Future<Output = Result<OpendalBackend, BackendError>> + Send>>
            + Send
            + Sync
            + 'static,
    ) -> LazyBackend {
        LazyBackend {
            location,
            init: Box::new(init),
            cell: OnceCell::new(),
        }
    }

    async fn get(&self) -> Result<&OpendalBackend, BackendError> {
        self.cell.get_or_try_init(|| (self.init)()).await
    }
}

impl std::fmt::Debug for LazyBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LazyBackend")
            .field("location", &self.location)
            .field("ready", &self.cell.initialized())
            .finish()
    }
}

#[async_trait]
impl Backend for LazyBackend {
    fn location(&self) -> String {
        self.location.clone()
    }
    async fn create(&self) -> Result<(), BackendError> {
        self.get().await?.create().await
    }
    async fn list(&self, t: FileType) -> Result<Vec<FileInfo>, BackendError> {
        self.get().await?.list(t).await
    }
    async fn read(&self, t: FileType, name: &str) -> Result<Bytes, BackendError> {
        self.get().await?.read(t, name).await
    }
    async fn read_range(
        &self,
        t: FileType,
        name: &str,
        offset: u64,
        len: u64,
    ) -> Result<Bytes, BackendError> {
        self.get().await?.read_range(t, name, offset, len).await
    }
    async fn read_range_into(
        &self,
        t: FileType,
        name: &str,
        offset: u64,
        len: u64,
        buf: &mut Vec<u8>,
    ) -> Result<(), BackendError> {
        self.get()
            .await?
            .read_range_into(t, name, offset, len, buf)
            .await
    }
    async fn write(&self, t: FileType, name: &str, data: Bytes) -> Result<(), BackendError> {
        self.get().await?.write(t, name, data).await
    }
    async fn remove(&self, t: FileType, name: &str) -> Result<(), BackendError> {
        self.get().await?.remove(t, name).await
    }
    async fn stat(&self, t: FileType, name: &str) -> Result<Option<u64>, BackendError> {
        self.get().await?.stat(t, name).await
    }
    async fn remove_leftovers(&self, dry_run: bool) -> Result<(usize, u64), BackendError> {
        self.get().await?.remove_leftovers(dry_run).await
    }
    async fn wipe_out(&self) -> Result<usize, BackendError> {
        self.get().await?.wipe_out().await
    }
}
