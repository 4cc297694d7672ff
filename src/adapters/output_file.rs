//! The files the operator's commands write (docs/contract.md §8). Each one is written
//! beside its target under a temporary name and renamed over the target only once it is
//! complete, so a run that fails or is interrupted leaves the old file whole; and an output
//! that names one of the command's inputs, or another output, is refused before anything is
//! opened for writing.

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use same_file::Handle;

/// An output file being written: its bytes go to a temporary file in the target's folder
/// (same file system, so the rename is atomic), removed again if it is dropped before
/// [`Replacing::commit`].
pub struct Replacing {
    temp: BufWriter<tempfile::NamedTempFile>,
    target: PathBuf,
}

impl Replacing {
    pub fn create(target: &Path) -> Result<Self, String> {
        let folder = match target.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        let name = target
            .file_name()
            .ok_or_else(|| format!("{} names no file", target.display()))?;
        let temp = tempfile::Builder::new()
            .prefix(&format!(".{}.", name.to_string_lossy()))
            .suffix(".partial")
            .tempfile_in(folder)
            .map_err(|e| format!("cannot write beside {}: {e}", target.display()))?;
        Ok(Self {
            temp: BufWriter::new(temp),
            target: target.to_owned(),
        })
    }

    /// Flushes, syncs and renames the file over its target.
    pub fn commit(self) -> Result<(), String> {
        let target = self.target;
        let failed = |e: &dyn std::fmt::Display| format!("cannot write {}: {e}", target.display());
        let temp = self.temp.into_inner().map_err(|e| failed(&e.error()))?;
        temp.as_file().sync_all().map_err(|e| failed(&e))?;
        temp.persist(&target).map_err(|e| failed(&e.error))?;
        Ok(())
    }
}

impl Write for Replacing {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.temp.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.temp.write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.temp.flush()
    }
}

/// Where a command's output goes: a file written beside its target, or standard output.
pub enum Output {
    File(Replacing),
    Stdout(BufWriter<io::Stdout>),
}

impl Output {
    pub fn to(target: Option<&Path>) -> Result<Self, String> {
        Ok(match target {
            Some(path) => Self::File(Replacing::create(path)?),
            None => Self::Stdout(BufWriter::new(io::stdout())),
        })
    }

    /// The output complete: a file renamed over its target, standard output flushed.
    pub fn commit(self) -> Result<(), String> {
        match self {
            Self::File(file) => file.commit(),
            Self::Stdout(mut out) => out.flush().map_err(|e| format!("cannot write: {e}")),
        }
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Self::File(file) => file.write(buf),
            Self::Stdout(out) => out.write(buf),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Self::File(file) => file.write_all(buf),
            Self::Stdout(out) => out.write_all(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Self::File(file) => file.flush(),
            Self::Stdout(out) => out.flush(),
        }
    }
}

/// A path as the file system resolves it: the file itself when it exists (links
/// followed), else its resolved folder and its name.
fn resolved(path: &Path) -> PathBuf {
    if let Ok(real) = path.canonicalize() {
        return real;
    }
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    match (folder.canonicalize(), path.file_name()) {
        (Ok(folder), Some(name)) => folder.join(name),
        _ => path.to_owned(),
    }
}

fn same(a: &Path, b: &Path) -> bool {
    if let (Ok(a), Ok(b)) = (Handle::from_path(a), Handle::from_path(b)) {
        return a == b;
    }
    resolved(a) == resolved(b)
}

/// Refuses outputs that would overwrite an input or each other (by path, link or hard
/// link), and standard output when it is redirected into an input (the shell emptied the
/// input before the command started). The line to print, when refused.
pub fn refuse_overlap(inputs: &[(&str, &Path)], outputs: &[(&str, &Path)]) -> Result<(), String> {
    for (i, (what, output)) in outputs.iter().enumerate() {
        for (input_is, input) in inputs {
            if same(output, input) {
                return Err(format!(
                    "{what} {} is the {input_is}: refused, nothing written (name another file)",
                    output.display()
                ));
            }
        }
        for (other_is, other) in &outputs[i + 1..] {
            if same(output, other) {
                return Err(format!(
                    "{what} and {other_is} both name {}: refused, nothing written",
                    output.display()
                ));
            }
        }
    }
    if let Ok(stdout) = Handle::stdout() {
        for (input_is, input) in inputs {
            if Handle::from_path(input).is_ok_and(|input| input == stdout) {
                return Err(format!(
                    "standard output is redirected into the {input_is} {} (the shell has \
                     already emptied it): refused; write to another file with --out",
                    input.display()
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_replaced_only_when_committed_and_its_temporary_file_goes() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("list.csv");
        std::fs::write(&target, "old\n").unwrap();
        let mut dropped = Replacing::create(&target).unwrap();
        dropped.write_all(b"half").unwrap();
        drop(dropped);
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "old\n");
        let mut kept = Replacing::create(&target).unwrap();
        kept.write_all(b"new\n").unwrap();
        kept.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new\n");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "no temporary file left");
    }

    #[test]
    fn an_output_naming_an_input_or_another_output_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.csv");
        std::fs::write(&input, "x\n").unwrap();
        let other = dir.path().join("sub");
        std::fs::create_dir(&other).unwrap();
        let roundabout = other.join("..").join("in.csv");
        let link = dir.path().join("link.csv");
        std::fs::hard_link(&input, &link).unwrap();
        let fresh = dir.path().join("out.csv");
        for output in [&input, &roundabout, &link] {
            let refused = refuse_overlap(&[("list", &input)], &[("--out", output)]);
            assert!(refused.is_err(), "{}", output.display());
        }
        assert!(refuse_overlap(&[("list", &input)], &[("--out", &fresh)]).is_ok());
        let twice = refuse_overlap(
            &[("list", &input)],
            &[("--out", &fresh), ("--removed", &other.join("../out.csv"))],
        );
        assert!(twice.unwrap_err().contains("both name"));
    }
}
