//! `key list|add|remove`: several passwords for one master key.
use bytes::Bytes;

use super::backend::FileType;
use super::keyfile::{KdfParams, KeyFile};
use super::repo::{RepoError, Repository, Result};
use super::Id;

#[derive(Clone, Debug, serde::Serialize)]
pub struct KeyInfo {
    pub current: bool,
    pub id: String,
    #[serde(rename = "userName")]
    pub username: String,
    #[serde(rename = "hostName")]
    pub hostname: String,
    pub created: String,
}

pub async fn list(repo: &Repository) -> Result<Vec<KeyInfo>> {
    let mut out = Vec::new();
    for f in repo.backend().list(FileType::Key).await? {
        let raw = repo.backend().read(FileType::Key, &f.name).await?;
        let kf: KeyFile = serde_json::from_slice(&raw).map_err(|e| RepoError::Json {
            what: format!("key {}", &f.name[..8]),
            source: e,
        })?;
        out.push(KeyInfo {
            current: f.name == repo.key_id(),
            id: f.name[..8].to_string(),
            username: kf.username,
            hostname: kf.hostname,
            created: kf
                .created
                .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                .unwrap_or_default(),
        });
    }
    Ok(out)
}

/// Add a key file for `password`; returns its id.
pub async fn add(repo: &Repository, password: &str, kdf: KdfParams) -> Result<Id> {
    let master = repo.key().clone();
    let pw = password.to_string();
    let kf = tokio::task::spawn_blocking(move || KeyFile::create(&master, &pw, kdf))
        .await
        .map_err(|e| RepoError::Other(e.to_string()))?
        .map_err(|e| RepoError::Key {
            name: "new".into(),
            source: e,
        })?;
    let bytes = serde_json::to_vec(&kf).expect("key file serialises");
    let id = Id::hash(&bytes);
    repo.backend()
        .write(FileType::Key, &id.to_hex(), Bytes::from(bytes))
        .await?;
    Ok(id)
}

/// Remove a key by id or unique prefix; refuses the key in use.
pub async fn remove(repo: &Repository, prefix: &str) -> Result<String> {
    let names: Vec<String> = repo
        .backend()
        .list(FileType::Key)
        .await?
        .into_iter()
        .map(|f| f.name)
        .filter(|n| n.starts_with(prefix))
        .collect();
    match names.as_slice() {
        [] => Err(RepoError::Other(format!("no key with id {prefix:?}"))),
        [one] if one == repo.key_id() => Err(RepoError::Other(
            "refusing to remove the key currently in use; open with another password first".into(),
        )),
        [one] => {
            repo.backend().remove(FileType::Key, one).await?;
            Ok(one.clone())
        }
        _ => Err(RepoError::Other(format!(
            "key id prefix {prefix:?} is ambiguous"
        ))),
    }
}
