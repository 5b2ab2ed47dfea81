use super::*;

#[test]
fn an_unreadable_folder_is_named_with_the_os_error_and_a_fix() {
    let issue = WalkIssue::Unreadable(PathBuf::from("/srv/k/faq"), std::io::Error::from_raw_os_error(13));
    let shown = |p: &Path| p.display().to_string().replace("/srv/", "");
    assert_eq!(
        walk_problem(issue, &shown).to_string(),
        "k/faq:1: cannot read the folder: Permission denied (os error 13) — make it readable for the bot (e.g. chmod -R a+rX k/faq) or move it out of the knowledge folder; its entries are left out until then"
    );
}

#[cfg(unix)]
#[test]
fn a_link_back_to_its_own_folder_is_a_loop_and_not_followed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::create_dir_all(dir.join("faq")).unwrap();
    std::fs::write(dir.join("faq/a.md"), "x").unwrap();
    std::os::unix::fs::symlink(".", dir.join("faq/loop")).unwrap();
    let (files, issues) = entry_files(dir).unwrap();
    assert_eq!(files, vec![dir.join("faq/a.md")]);
    assert!(matches!(issues.as_slice(), [WalkIssue::Loop { .. }]), "{issues:?}");
}
