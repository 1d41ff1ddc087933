//! Writing the exported forest to a file the user named, refusing to overwrite without consent,
//! and reading that name as a shell would (`~` is the home folder, relative names are relative
//! to the folder mother was started in). A name that means no file (nothing typed, a folder) is
//! refused before anything is written, with what to type instead.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ExportFileError {
    #[error("{path} already exists")]
    Exists { path: PathBuf },
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Why a name typed at the export prompt names no file to write; the message says what to type.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ExportNameError {
    #[error("type a file name for the DOT export")]
    Empty,
    /// `name` is the name as typed, which the prompt shows beside the message.
    #[error("{name} is a folder — type a file name in it")]
    Folder { name: String },
    /// mother never writes inside the folder of models it reads.
    #[error("{name} is inside {}, the folder being read — type a path outside it", root.display())]
    InsideScanned { name: String, root: PathBuf },
}

/// The file a name typed at the export prompt means, or why it means none: nothing typed, or a
/// folder (one that exists, or a name ending in `/`), which a write could only fail on or, with
/// the user's consent to overwrite, try to truncate.
/// A name inside `scanned`, the folder of models being read, is refused too.
pub fn export_target(
    export_dir: &Path,
    scanned: &Path,
    input: &str,
) -> Result<PathBuf, ExportNameError> {
    let name = input.trim();
    if name.is_empty() {
        return Err(ExportNameError::Empty);
    }
    let path = resolve_export_path(export_dir, name);
    if name.ends_with(std::path::is_separator) || path.is_dir() {
        return Err(ExportNameError::Folder {
            name: name.to_string(),
        });
    }
    if crate::discover::lies_inside(&path, scanned) {
        return Err(ExportNameError::InsideScanned {
            name: name.to_string(),
            root: scanned.to_path_buf(),
        });
    }
    Ok(path)
}

/// The file a name typed at the export prompt means: a leading `~` or `~/` is the home folder
/// (as in a shell, so `~/graphs/tree.dot` does not create a folder called `~`), an absolute
/// path is kept, and anything else is joined to `export_dir`. `~user` forms are not expanded
/// (that needs the password database) and stay relative names. Without a known home, `~`
/// stays a relative name too.
pub fn resolve_export_path(export_dir: &Path, input: &str) -> PathBuf {
    resolve_with_home(export_dir, input, home_dir())
}

fn home_dir() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|home| !home.is_empty())
        .map(PathBuf::from)
        .or_else(|| directories::BaseDirs::new().map(|dirs| dirs.home_dir().to_path_buf()))
}

fn resolve_with_home(export_dir: &Path, input: &str, home: Option<PathBuf>) -> PathBuf {
    let input = input.trim();
    let expanded = match (input, input.strip_prefix("~/"), home) {
        ("~", _, Some(home)) => home,
        (_, Some(rest), Some(home)) => home.join(rest),
        _ => PathBuf::from(input),
    };
    export_dir.join(expanded)
}

/// Writes `contents` to `path`. Without `overwrite`, an existing file is left untouched and
/// [`ExportFileError::Exists`] comes back; the check and the creation are one step
/// (`create_new`), so a file appearing in between is not clobbered either.
pub fn write_export(path: &Path, contents: &str, overwrite: bool) -> Result<(), ExportFileError> {
    let mut options = OpenOptions::new();
    options.write(true);
    if overwrite {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let io_error = |source: std::io::Error| ExportFileError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = options.open(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::AlreadyExists {
            ExportFileError::Exists {
                path: path.to_path_buf(),
            }
        } else {
            io_error(source)
        }
    })?;
    file.write_all(contents.as_bytes()).map_err(io_error)?;
    file.flush().map_err(io_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(input: &str) -> PathBuf {
        resolve_with_home(
            Path::new("/work/here"),
            input,
            Some(PathBuf::from("/home/ada")),
        )
    }

    #[test]
    fn a_leading_tilde_is_the_home_folder() {
        assert_eq!(resolve("~"), Path::new("/home/ada"));
        assert_eq!(resolve("~/"), Path::new("/home/ada"));
        assert_eq!(resolve("~/tree.dot"), Path::new("/home/ada/tree.dot"));
        assert_eq!(resolve("~/a/b.dot"), Path::new("/home/ada/a/b.dot"));
    }

    #[test]
    fn relative_names_join_the_export_folder_and_absolute_ones_stay() {
        assert_eq!(resolve("tree.dot"), Path::new("/work/here/tree.dot"));
        assert_eq!(
            resolve("out/tree.dot"),
            Path::new("/work/here/out/tree.dot")
        );
        assert_eq!(resolve("/tmp/tree.dot"), Path::new("/tmp/tree.dot"));
        assert_eq!(resolve("  tree.dot "), Path::new("/work/here/tree.dot"));
    }

    #[test]
    fn a_tilde_elsewhere_or_before_a_user_name_is_literal() {
        assert_eq!(resolve("~bob/x.dot"), Path::new("/work/here/~bob/x.dot"));
        assert_eq!(resolve("a~/x.dot"), Path::new("/work/here/a~/x.dot"));
        assert_eq!(resolve("~x"), Path::new("/work/here/~x"));
    }

    #[test]
    fn without_a_home_the_tilde_stays_a_name() {
        let resolved = resolve_with_home(Path::new("/w"), "~/t.dot", None);
        assert_eq!(resolved, Path::new("/w/~/t.dot"));
    }

    #[test]
    fn nothing_typed_folders_and_the_scanned_folder_name_no_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(dir.path().join("graphs")).expect("a folder");
        let scanned = dir.path().join("hub");
        std::fs::create_dir(&scanned).expect("the scanned folder");
        let target = |input: &str| export_target(dir.path(), &scanned, input);
        assert_eq!(target(""), Err(ExportNameError::Empty));
        assert_eq!(target("   "), Err(ExportNameError::Empty));
        let folder = |name: &str| {
            Err(ExportNameError::Folder {
                name: name.to_string(),
            })
        };
        assert_eq!(target("graphs"), folder("graphs"));
        assert_eq!(target(" graphs "), folder("graphs"));
        assert_eq!(target("."), folder("."));
        assert_eq!(target("not-yet/"), folder("not-yet/"));
        assert_eq!(
            target("graphs/tree.dot"),
            Ok(dir.path().join("graphs/tree.dot"))
        );
        assert_eq!(
            target("graphs").unwrap_err().to_string(),
            "graphs is a folder — type a file name in it"
        );
        // Nothing goes inside the folder of models being read, however it is named.
        for name in ["hub/tree.dot", "hub/new/tree.dot", "graphs/../hub/t.dot"] {
            assert_eq!(
                target(name),
                Err(ExportNameError::InsideScanned {
                    name: name.to_string(),
                    root: scanned.clone(),
                })
            );
        }
        assert!(
            target("hub/tree.dot")
                .unwrap_err()
                .to_string()
                .ends_with("the folder being read — type a path outside it")
        );
    }

    #[test]
    fn the_public_function_uses_the_real_home() {
        if let Some(home) = home_dir() {
            assert_eq!(
                resolve_export_path(Path::new("/w"), "~/t.dot"),
                home.join("t.dot")
            );
        }
    }
}
