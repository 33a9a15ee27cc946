use super::*;

const AB: &str = "apiVersion: appcatalog.appscode.com/v1alpha1
kind: AppBinding
metadata:
  name: pg
  namespace: demo
spec:
  type: kubedb.com/postgres
  clientConfig:
    url: postgresql://127.0.0.1:5432/app?sslmode=disable
  secret:
    name: pg-auth
  secretTransforms:
  - addKeysFrom:
      secretRef:
        name: pg-extra
";

const SECRETS: &str = "apiVersion: v1
kind: Secret
metadata:
  name: pg-auth
  namespace: demo
data:
  username: cG9zdGdyZXM=
  password: b2xkLXBhc3N3b3Jk
stringData:
  password: hunter2-from-stringdata
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Secret
  metadata:
    name: pg-extra
    namespace: demo
  stringData:
    extra: x
- apiVersion: stash.appscode.com/v1alpha1
  kind: Repository
  metadata:
    name: local-repo
  spec:
    backend:
      storageSecretName: repo-secret
      local:
        mountPath: /safe/data
        hostPath:
          path: /data/repo
";

fn dir(files: &[(&str, &str)]) -> (tempfile::TempDir, ManifestDir) {
    let tmp = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let p = tmp.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let store = ManifestDir::load(&[tmp.path()]).unwrap();
    (tmp, store)
}

#[tokio::test]
async fn reads_multi_document_files_lists_and_subfolders() {
    let (_tmp, store) = dir(&[
        ("ab.yaml", AB),
        ("more/secrets.yml", SECRETS),
        ("notes.txt", "not yaml: ["),
    ]);
    let ab = store.app_binding("demo", "pg").await.unwrap();
    assert_eq!(ab.spec.secret.unwrap().name, "pg-auth");
    // stringData wins over data, as the API server merges them.
    let s = store.secret("demo", "pg-auth").await.unwrap();
    assert_eq!(s.data()["password"], b"hunter2-from-stringdata");
    assert_eq!(s.data()["username"], b"postgres");
    // A Repository without a namespace is in `default`.
    let r = store.repository("default", "local-repo").await.unwrap();
    assert_eq!(
        r.spec.backend.unwrap().storage_secret_name.as_deref(),
        Some("repo-secret")
    );
}

#[tokio::test]
async fn not_found_names_the_object_the_folder_and_what_is_there() {
    let (tmp, store) = dir(&[("ab.yaml", AB)]);
    let e = store
        .app_binding("demo", "pg-typo")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("AppBinding demo/pg-typo not found in the manifests in "),
        "{e}"
    );
    assert!(e.contains(&tmp.path().display().to_string()), "{e}");
    assert!(
        e.contains("add its manifest there, or correct the name"),
        "{e}"
    );
    assert!(e.contains("AppBindings in namespace demo: pg"), "{e}");
    let e = store
        .app_binding("prod", "pg")
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("one of that name is in namespace demo"), "{e}");
    let e = store.repository("demo", "r").await.unwrap_err().to_string();
    assert!(
        e.contains("there is no Repository in namespace demo"),
        "{e}"
    );
}

#[tokio::test]
async fn a_bad_field_is_reported_with_its_path_and_file() {
    let bad = AB.replace("    name: pg-auth\n", "    name: {first: pg}\n");
    let (_tmp, store) = dir(&[("ab.yaml", &bad), ("s.yaml", "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: demo}\ndata: {k: '%%%'}\n")]);
    let e = store
        .app_binding("demo", "pg")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("AppBinding demo/pg (in ") && e.contains("ab.yaml): field spec.secret.name: "),
        "{e}"
    );
    let e = store.secret("demo", "s").await.unwrap_err().to_string();
    assert!(e.contains("field data.k"), "{e}");
}

#[tokio::test]
async fn duplicates_are_refused_and_yaml_errors_name_the_file() {
    let (_tmp, store) = dir(&[("a.yaml", AB), ("b.yaml", AB)]);
    let e = store
        .app_binding("demo", "pg")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("is defined twice") && e.contains("a.yaml") && e.contains("b.yaml"),
        "{e}"
    );
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("x.yaml"), "kind: [unclosed\n").unwrap();
    let e = ManifestDir::load(&[tmp.path()]).unwrap_err().to_string();
    assert!(e.contains("x.yaml: not YAML"), "{e}");
    let e = ManifestDir::load(&[tmp.path().join("missing")])
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("reading ") && e.contains("missing"), "{e}");
}

#[tokio::test]
async fn app_connection_fetches_every_secret_the_appbinding_names() {
    let (_tmp, store) = dir(&[("ab.yaml", AB), ("s.yaml", SECRETS)]);
    let (_, conn) = app_connection(&store, "demo", "pg").await.unwrap();
    assert_eq!((conn.host.as_str(), conn.port), ("127.0.0.1", 5432));
    assert_eq!(conn.password().as_deref(), Some("hunter2-from-stringdata"));
    assert_eq!(conn.secret["extra"], b"x");
    let (_tmp, store) = dir(&[("ab.yaml", AB)]);
    let e = app_connection(&store, "demo", "pg")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("Secret demo/pg-auth not found")
            && e.contains("named by spec.secret of AppBinding demo/pg"),
        "{e}"
    );
}

#[tokio::test]
async fn secrets_never_show_in_debug() {
    let (_tmp, store) = dir(&[("s.yaml", SECRETS)]);
    let s = store.secret("demo", "pg-auth").await.unwrap();
    let shown = format!("{s:?} {store:?} {:?}", s.clone().into_storage_secret());
    assert!(
        !shown.contains("hunter2") && !shown.contains("b2xkLXBhc3N3b3Jk"),
        "{shown}"
    );
    assert!(shown.contains("password"), "{shown}");
}

#[tokio::test]
async fn annotated_secrets_take_values_from_the_environment() {
    std::env::set_var("STASH_TEST_STORE_PW", "from-env");
    std::env::remove_var("STASH_TEST_STORE_UNSET");
    let secret = |name: &str, var: &str| {
        format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: demo\n  annotations:\n    \
             local.stash.appscode.com/expand-env: \"true\"\nstringData:\n  password: \"${{{var}}}\"\n"
        )
    };
    let (_tmp, store) = dir(&[
        ("a.yaml", &secret("set", "STASH_TEST_STORE_PW")),
        ("b.yaml", &secret("unset", "STASH_TEST_STORE_UNSET")),
    ]);
    let s = store.secret("demo", "set").await.unwrap();
    assert_eq!(s.data()["password"], b"from-env");
    let e = store.secret("demo", "unset").await.unwrap_err().to_string();
    assert!(
        e.contains("Secret demo/unset")
            && e.contains("b.yaml")
            && e.contains("stringData.password: ${STASH_TEST_STORE_UNSET} is not set"),
        "{e}"
    );
}
