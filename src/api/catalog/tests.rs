use super::*;

#[test]
fn builtin_catalog_loads_and_checks() {
    let cat = Catalog::builtin().unwrap_or_else(|e| panic!("{e:#?}"));
    assert_eq!(cat.functions.len(), 69);
    assert_eq!(cat.tasks.len(), 68);
}

#[test]
fn every_file_parses_on_its_own() {
    for (file, text) in FILES {
        let docs: Vec<Value> =
            serde_saphyr::from_multiple(text).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(docs.iter().any(|d| !d.is_null()), "{file} is empty");
    }
    // The embedded copies are the files on disk.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("catalog");
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    on_disk.sort();
    assert_eq!(
        on_disk,
        FILES.iter().map(|(f, _)| f.to_string()).collect::<Vec<_>>()
    );
}

#[test]
fn keeps_every_task_name_stash_shipped() {
    let versions: &[(&str, &str)] = &[
        ("postgres", "9.6.19 10.14 11.9 12.4 13.1 14.0 15.1 16.1 17.2 18.2"),
        ("mysql", "5.7.25 8.0.3 8.0.14 8.0.21"),
        ("mariadb", "10.6.23"),
        ("mongodb", "3.4.17 3.4.22 3.6.8 3.6.13 4.0.3 4.0.5 4.0.11 4.1.4 4.1.7 4.1.13 4.2.3 4.4.6 5.0.3 5.0.15 6.0.5"),
        ("redis", "5.0.13 6.2.5 7.0.5"),
    ];
    let mut want = vec!["pvc-backup".to_string(), "pvc-restore".to_string()];
    for (db, vs) in versions {
        for v in vs.split(' ') {
            want.push(format!("{db}-backup-{v}"));
            want.push(format!("{db}-restore-{v}"));
        }
    }
    want.sort();
    let cat = Catalog::builtin().unwrap();
    assert_eq!(cat.tasks.keys().cloned().collect::<Vec<_>>(), want);
    for task in cat.tasks.values() {
        let steps: Vec<_> = task.spec.steps().iter().map(|s| s.name.as_str()).collect();
        let name = task.metadata.name.as_deref().unwrap();
        assert_eq!(steps, [name, "update-status"], "{name}");
        assert_eq!(
            task.spec.steps()[0].params()[0],
            crate::api::Param {
                name: "outputDir".into(),
                value: "/stash-tmp/output".into()
            }
        );
    }
    let images: BTreeSet<_> = cat
        .functions
        .values()
        .map(|f| f.spec.image.clone().unwrap())
        .collect();
    assert_eq!(images.len(), 1, "one image for every step: {images:?}");
}

const FN: &str = "apiVersion: stash.appscode.com/v1beta1\nkind: Function\nmetadata: {name: f}\nspec:\n  image: x\n";

#[test]
fn catalog_yaml_is_strict() {
    let bad = format!("{FN}  args: ['${{a}}']\n  imagePullPolicy: Always\n");
    let errs = Catalog::load([("f.yaml", bad.as_str())]).unwrap_err();
    let shown: Vec<String> = errs.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        [
            "f.yaml: Function/f: unknown field spec.imagePullPolicy",
            "Function/f: spec.args[0]: ${a} is neither an implicit variable, nor a param of any Task, nor has a default",
        ]
    );
}

#[test]
fn tasks_must_name_existing_functions_and_pass_their_variables() {
    let task = "apiVersion: stash.appscode.com/v1beta1\nkind: Task\nmetadata: {name: t}\nspec:\n  steps:\n  - {name: f, params: [{name: targetVolume, value: v}]}\n  - {name: g}\n  volumes: [{name: v, persistentVolumeClaim: {claimName: '${TARGET_NAME}-${suffix}'}}]\n";
    let f =
        format!("{FN}  args: ['${{targetVolume}}', '${{other}}', '${{HOSTNAME}}', '${{x:=1}}']\n");
    let errs = Catalog::load([("t.yaml", task), ("f.yaml", f.as_str())]).unwrap_err();
    let shown: Vec<String> = errs.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        [
            "Task/t: spec.volumes[0].persistentVolumeClaim.claimName: ${suffix} is neither an implicit variable, nor a param of the Task, nor has a default",
            "Function/f: spec.args[1]: ${other} is neither an implicit variable, nor a param of step 0 of Task t, nor has a default",
            "Task t: step 1 names Function g, which is not in the catalog",
        ]
    );
}

#[test]
fn only_functions_and_tasks_once_each() {
    let repo = "apiVersion: stash.appscode.com/v1alpha1\nkind: Repository\nmetadata: {name: r}\nspec: {}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n";
    let errs = Catalog::load([("a.yaml", repo), ("f1.yaml", FN), ("f2.yaml", FN)]).unwrap_err();
    let shown: Vec<String> = errs.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        [
            "a.yaml: Repository/r: only Functions and Tasks belong in the catalog",
            "a.yaml: ConfigMap/c: only Functions and Tasks belong in the catalog",
            "Function/f is defined twice (f1.yaml and f2.yaml)",
        ]
    );
}
