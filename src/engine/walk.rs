//! Walking snapshot trees: the set of blobs that snapshots reference.
use std::collections::HashSet;

use futures::StreamExt;

use super::pack::BlobType;
use super::repo::{Repository, Result};
use super::restorer::load_tree;
use super::Id;

/// Blobs reachable from some roots.
#[derive(Default, Debug)]
pub struct Reachable {
    pub trees: HashSet<Id>,
    pub data: HashSet<Id>,
}

impl Reachable {
    pub fn contains(&self, t: BlobType, id: &Id) -> bool {
        match t {
            BlobType::Tree => self.trees.contains(id),
            BlobType::Data => self.data.contains(id),
        }
    }
}

/// Visit every tree below `roots` once (in parallel batches), collecting blob ids.
/// `on_tree_error` receives trees that could not be loaded; the walk goes on without them.
pub async fn reachable(
    repo: &Repository,
    roots: impl IntoIterator<Item = Id>,
    mut on_tree_error: impl FnMut(Id, String),
) -> Result<Reachable> {
    let mut r = Reachable::default();
    let mut frontier: Vec<Id> = roots.into_iter().filter(|id| r.trees.insert(*id)).collect();
    while !frontier.is_empty() {
        let batch = std::mem::take(&mut frontier);
        let loaded: Vec<(Id, Result<super::tree::Tree>)> = futures::stream::iter(batch)
            .map(|id| async move { (id, load_tree(repo, &id).await) })
            .buffer_unordered(8)
            .collect()
            .await;
        for (id, t) in loaded {
            match t {
                Ok(t) => {
                    for n in &t.nodes {
                        if let Some(c) = &n.content {
                            r.data.extend(c.iter().copied());
                        }
                        if let Some(s) = n.subtree {
                            if r.trees.insert(s) {
                                frontier.push(s);
                            }
                        }
                    }
                }
                Err(e) => on_tree_error(id, e.to_string()),
            }
        }
    }
    Ok(r)
}
