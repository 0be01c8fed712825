//! Writing user files atomically.
//!
//! Replacing an existing output (`--force`) writes through a symbolic link to the regular
//! file it names (the link stays a link), keeps the replaced file's permission bits, and
//! refuses anything that is not a regular file (a FIFO, a device such as `/dev/stdout`, a
//! socket, a dangling link), naming it: a rename over such an entry would silently turn it
//! into a plain file.

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};

/// Writes `bytes` to `path` atomically: a temporary file in the same directory (created
/// exclusively, written, flushed to disk) is renamed over `path`, so readers see either the
/// old file or the complete new one, never a partial one.
///
/// # Errors
/// A message naming the path if the directory does not exist or is not writable, or any
/// write, sync or rename fails; the temporary file is removed on failure.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let target = replace_target(path)?;
    let path = target.as_path();
    let mode = fs::metadata(path).ok().map(|m| m.permissions());
    write_via_temp(path, bytes, |tmp| {
        if let Some(mode) = mode {
            fs::set_permissions(tmp, mode)
                .with_context(|| format!("cannot set the mode of {}", tmp.display()))?;
        }
        fs::rename(tmp, path)
            .with_context(|| format!("cannot rename {} to {}", tmp.display(), path.display()))
    })
}

/// The file an output at `path` replaces: `path` itself if nothing is there or it is a
/// regular file; the regular file a symbolic link resolves to (so the link survives).
///
/// # Errors
/// A message naming `path` (and the link's target) when the entry, or what a link points
/// to, is not a regular file, or a link is dangling.
fn replace_target(path: &Path) -> Result<PathBuf> {
    let Ok(meta) = path.symlink_metadata() else {
        return Ok(path.to_path_buf());
    };
    let shown = path.display();
    let link_text = || {
        fs::read_link(path).map_or_else(
            |_| "an unreadable target".to_string(),
            |t| t.display().to_string(),
        )
    };
    // `metadata` follows links (also the kernel's magic ones, such as /dev/stdout ->
    // /proc/self/fd/1 -> a pipe, which `canonicalize` cannot name).
    let Ok(followed) = fs::metadata(path) else {
        bail!(
            "{shown} is a symbolic link to {}, which does not exist; give a file path or \
             remove the link",
            link_text()
        );
    };
    let kind = followed.file_type();
    if !kind.is_file() {
        let what = describe(kind);
        if meta.file_type().is_symlink() {
            bail!(
                "{shown} is a symbolic link to {} ({what}), not a regular file: refusing to \
                 replace it",
                link_text()
            );
        }
        bail!("{shown} is {what}, not a regular file: refusing to replace it");
    }
    if meta.file_type().is_symlink() {
        return fs::canonicalize(path)
            .with_context(|| format!("cannot resolve the symbolic link {shown}"));
    }
    Ok(path.to_path_buf())
}

/// "a directory", "a FIFO", ... for messages.
fn describe(kind: fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a FIFO";
        }
        if kind.is_char_device() {
            return "a character device";
        }
        if kind.is_block_device() {
            return "a block device";
        }
        if kind.is_socket() {
            return "a socket";
        }
    }
    if kind.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    }
}

/// Like [`write_atomic`], but never replaces an existing file: the finished temporary file
/// is hard-linked into place, which fails atomically if `path` exists (on a file system
/// without hard links it falls back to check-then-rename).
///
/// # Errors
/// [`ErrorKind::AlreadyExists`] (as the source of the returned error) if `path` exists;
/// otherwise as [`write_atomic`].
pub fn write_new(path: &Path, bytes: &[u8]) -> Result<()> {
    write_via_temp(path, bytes, |tmp| match fs::hard_link(tmp, path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            Err(e).with_context(|| format!("{} exists", path.display()))
        }
        Err(_) if !path.exists() => fs::rename(tmp, path)
            .with_context(|| format!("cannot rename {} to {}", tmp.display(), path.display())),
        Err(e) => Err(e).with_context(|| format!("cannot create {}", path.display())),
    })
}

/// Checks, before any work, that an output file can later be written to `path` (by
/// [`write_atomic`] with `force`, by [`write_new`] without): `path` is not a directory,
/// exists only with `force`, and its directory exists and takes a new file (a probe file is
/// created there and removed). `flag` names the option in the messages (`--json`).
///
/// # Errors
/// A message naming `flag`, the path and the reason.
pub fn check_output(flag: &str, path: &Path, force: bool) -> Result<()> {
    let shown = path.display();
    if path.is_dir() {
        bail!("cannot write {flag} {shown}: it is a directory; give a file path");
    }
    // `symlink_metadata`, not `exists`: a dangling symbolic link is an existing entry too
    // (saving refuses to replace it without --force), but `exists` follows it and says no.
    if path.symlink_metadata().is_ok() && !force {
        bail!("{flag} {shown} exists; pass --force to overwrite it");
    }
    let path = &replace_target(path).with_context(|| format!("cannot write {flag} {shown}"))?;
    let file_name = path
        .file_name()
        .ok_or_else(|| anyhow!("cannot write {flag} {shown}: not a file path"))?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        bail!(
            "cannot write {flag} {shown}: directory {} does not exist",
            dir.display()
        );
    }
    let mut probe_name = std::ffi::OsString::from(".");
    probe_name.push(file_name);
    probe_name.push(format!(".probe-{}", std::process::id()));
    let probe = dir.join(probe_name);
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .with_context(|| {
            format!(
                "cannot write {flag} {shown}: cannot create a file in {}",
                dir.display()
            )
        })?;
    fs::remove_file(&probe).with_context(|| format!("cannot remove {}", probe.display()))?;
    Ok(())
}

/// Writes `bytes` to a fresh temporary sibling of `path`, syncs it, then calls `publish`
/// with the temporary path to move it into place. The temporary file is always removed
/// afterwards (after a rename it no longer exists; after a hard link it is a second name).
fn write_via_temp(
    path: &Path,
    bytes: &[u8],
    publish: impl FnOnce(&Path) -> Result<()>,
) -> Result<()> {
    let file_name = path
        .file_name()
        .ok_or_else(|| anyhow!("{} is not a file path", path.display()))?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(file_name);
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    let tmp = dir.join(tmp_name);
    let result = (|| -> Result<()> {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .with_context(|| format!("cannot create {}", tmp.display()))?;
        f.write_all(bytes)
            .and_then(|()| f.sync_all())
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        publish(&tmp)
    })();
    let _ = fs::remove_file(&tmp);
    result.with_context(|| format!("writing {} failed", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch_dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("lstm-harness-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    /// A dangling symbolic link is an existing output: refused before any work, without
    /// `--force` as an existing entry, with it as a link to nothing.
    #[cfg(unix)]
    #[test]
    fn a_dangling_symlink_output_is_refused_before_any_work_without_force() {
        let d = scratch_dir("dangling");
        let link = d.join("lnk");
        std::os::unix::fs::symlink(d.join("nowhere"), &link).unwrap();
        let e = check_output("--bin", &link, false).unwrap_err().to_string();
        assert!(e.contains("exists") && e.contains("--force"), "{e}");
        // With --force it is still refused: there is no file to write through to.
        let e = format!("{:#}", check_output("--bin", &link, true).unwrap_err());
        assert!(e.contains("does not exist") && e.contains("--bin"), "{e}");
        fs::remove_dir_all(&d).unwrap();
    }

    /// `--force` through a symbolic link replaces the file it names and keeps the link and
    /// the file's mode; a FIFO, `/dev/null` and a dangling link are refused by name.
    #[cfg(unix)]
    #[test]
    fn a_forced_write_goes_through_links_keeps_the_mode_and_refuses_special_files() {
        use std::os::unix::fs::PermissionsExt;
        let d = scratch_dir("special");
        let real = d.join("real.bin");
        fs::write(&real, b"old").unwrap();
        fs::set_permissions(&real, fs::Permissions::from_mode(0o640)).unwrap();
        let link = d.join("link.bin");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        check_output("--bin", &link, true).unwrap();
        write_atomic(&link, b"new").unwrap();
        assert!(link.symlink_metadata().unwrap().file_type().is_symlink());
        assert_eq!(fs::read(&real).unwrap(), b"new");
        let mode = fs::metadata(&real).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);

        let fifo = d.join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if made.is_ok_and(|s| s.success()) {
            let e = format!("{:#}", check_output("--bin", &fifo, true).unwrap_err());
            assert!(e.contains("a FIFO") && e.contains("fifo"), "{e}");
            let e = format!("{:#}", write_atomic(&fifo, b"x").unwrap_err());
            assert!(e.contains("a FIFO"), "{e}");
            use std::os::unix::fs::FileTypeExt;
            assert!(
                fs::metadata(&fifo).unwrap().file_type().is_fifo(),
                "still a FIFO"
            );
        }
        let e = format!(
            "{:#}",
            check_output("--out", Path::new("/dev/null"), true).unwrap_err()
        );
        assert!(
            e.contains("character device") && e.contains("/dev/null"),
            "{e}"
        );
        // /dev/stdout: a link to /proc/self/fd/1 (a pipe under the test harness, a
        // terminal or a file elsewhere): refused unless it ends at a regular file.
        let stdout = Path::new("/dev/stdout");
        if fs::metadata(stdout).is_ok_and(|m| !m.is_file()) {
            let e = format!("{:#}", check_output("--out", stdout, true).unwrap_err());
            assert!(
                e.contains("/dev/stdout") && e.contains("not a regular file"),
                "{e}"
            );
        }
        let dangling = d.join("dangling");
        std::os::unix::fs::symlink(d.join("nowhere"), &dangling).unwrap();
        let e = format!("{:#}", write_atomic(&dangling, b"x").unwrap_err());
        assert!(e.contains("does not exist") && e.contains("nowhere"), "{e}");
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn an_atomic_write_replaces_the_file_and_leaves_no_temporary_file() {
        let d = scratch_dir("atomic");
        let p = d.join("out.json");
        write_atomic(&p, b"first").unwrap();
        write_atomic(&p, b"second").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"second");
        assert_eq!(fs::read_dir(&d).unwrap().count(), 1);
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_no_clobber_write_refuses_an_existing_file_and_keeps_it() {
        let d = scratch_dir("new");
        let p = d.join("model.bin");
        write_new(&p, b"first").unwrap();
        let err = write_new(&p, b"second").unwrap_err();
        assert!(format!("{err:#}").contains("exists"), "{err:#}");
        assert_eq!(fs::read(&p).unwrap(), b"first");
        assert_eq!(
            fs::read_dir(&d).unwrap().count(),
            1,
            "no temporary file left"
        );
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn an_output_check_refuses_a_directory_a_missing_one_and_an_existing_file_without_force() {
        let d = scratch_dir("check");
        let e = |p: &Path, force| format!("{:#}", check_output("--json", p, force).unwrap_err());
        let dir_err = e(&d, true);
        assert!(
            dir_err.contains("--json") && dir_err.contains("is a directory"),
            "{dir_err}"
        );
        let missing = e(&d.join("no/r.json"), false);
        assert!(missing.contains("does not exist"), "{missing}");
        let p = d.join("r.json");
        check_output("--json", &p, false).unwrap();
        fs::write(&p, b"old").unwrap();
        assert!(e(&p, false).contains("--force"));
        check_output("--json", &p, true).unwrap();
        // The probe file is gone; the old file is untouched.
        assert_eq!(fs::read_dir(&d).unwrap().count(), 1);
        assert_eq!(fs::read(&p).unwrap(), b"old");
        fs::remove_dir_all(&d).unwrap();
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn an_output_check_refuses_a_directory_where_no_file_can_be_created() {
        // /proc takes no new files, not even from root.
        let e = format!(
            "{:#}",
            check_output("--json", Path::new("/proc/lstm-report.json"), false).unwrap_err()
        );
        assert!(e.contains("cannot create a file in /proc"), "{e}");
    }

    #[test]
    fn writing_into_a_missing_directory_is_an_error_naming_the_path() {
        let d = scratch_dir("missing");
        let p = d.join("no/such/dir/out.json");
        let err = write_atomic(&p, b"x").unwrap_err();
        assert!(format!("{err:#}").contains("out.json"), "{err:#}");
        fs::remove_dir_all(&d).unwrap();
    }
}
