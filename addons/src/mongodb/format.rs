//! Reading and writing the `/dump` stream: BSON documents back to back (see the module doc).
use bson::RawDocumentBuf;
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::error::{AddonError, Result};

/// BSON's own limit is 16 MiB per document; leave room for control documents.
const MAX_DOC: usize = 48 << 20;

/// The next document, or `None` at a clean end of stream.
pub async fn read_doc<R: AsyncRead + Unpin>(r: &mut R) -> Result<Option<RawDocumentBuf>> {
    let mut len = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        let n = r
            .read(&mut len[got..])
            .await
            .map_err(|e| AddonError::io("reading the dump", e))?;
        if n == 0 {
            if got == 0 {
                return Ok(None);
            }
            return Err(AddonError::Format(
                "the stream ends inside a document length".into(),
            ));
        }
        got += n;
    }
    let size = i32::from_le_bytes(len);
    if size < 5 || size as usize > MAX_DOC {
        return Err(AddonError::Format(format!(
            "document length {size} is out of range"
        )));
    }
    let mut buf = vec![0u8; size as usize];
    buf[..4].copy_from_slice(&len);
    r.read_exact(&mut buf[4..]).await.map_err(|e| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            AddonError::Format("the stream ends inside a document".into())
        } else {
            AddonError::io("reading the dump", e)
        }
    })?;
    RawDocumentBuf::from_bytes(buf)
        .map(Some)
        .map_err(|e| AddonError::Format(format!("invalid BSON document: {e}")))
}

/// Serialize a control document.
pub fn control(d: &bson::Document) -> Result<Vec<u8>> {
    bson::to_vec(d).map_err(|e| AddonError::Format(format!("encoding a control document: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    #[tokio::test]
    async fn documents_round_trip_and_truncation_is_detected() {
        let mut s = control(&doc! {"batch": 2}).unwrap();
        s.extend(control(&doc! {"_id": 1, "x": [1, 2, {"y": "ü"}]}).unwrap());
        let mut r = &s[..];
        let d = read_doc(&mut r).await.unwrap().unwrap();
        assert_eq!(d.get_i32("batch").unwrap(), 2);
        let d = read_doc(&mut r).await.unwrap().unwrap();
        assert_eq!(d.get_i32("_id").unwrap(), 1);
        assert!(read_doc(&mut r).await.unwrap().is_none());
        let mut r = &s[..s.len() - 1];
        read_doc(&mut r).await.unwrap();
        assert!(read_doc(&mut r).await.is_err());
    }
}
