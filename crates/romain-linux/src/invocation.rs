//! How a run starts a Linux program: its argv, and, as a shell would set them up, its standard
//! streams and working directory.
//!
//! A plan run's arguments (`MODE:APP+ARG+...`) are the program's argv after its name, except for
//! three shell-like forms the master takes for itself: `<FILE` reads stdin from an embedded file,
//! `>FILE` makes stdout a file the program writes (reported at exit like any written file), and
//! `cd=DIR` starts the program in directory DIR, so that upstream scripts' relative paths
//! (`../adpcm/data/small.pcm`) work unchanged.

use alloc::vec::Vec;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Invocation<'a> {
    pub argv: Vec<&'a str>,
    pub stdin: Option<&'a str>,
    pub stdout: Option<&'a str>,
    pub cwd: Option<&'a str>,
}

impl<'a> Invocation<'a> {
    /// `args` as written in the plan (`+`-separated); `stdin` is the image's default (`STDIN=`),
    /// which a `<FILE` of the run overrides.
    pub fn parse(app: &'a str, args: &'a str, stdin: Option<&'a str>) -> Self {
        let mut run = Invocation {
            argv: alloc::vec![app],
            stdin,
            ..Default::default()
        };
        for arg in args.split('+').filter(|a| !a.is_empty()) {
            if let Some(file) = arg.strip_prefix('<').filter(|f| !f.is_empty()) {
                run.stdin = Some(file);
            } else if let Some(file) = arg.strip_prefix('>').filter(|f| !f.is_empty()) {
                run.stdout = Some(file);
            } else if let Some(dir) = arg.strip_prefix("cd=").filter(|d| !d.is_empty()) {
                run.cwd = Some(dir);
            } else {
                run.argv.push(arg);
            }
        }
        run
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirections_and_directory_are_taken_out_of_argv() {
        let run = Invocation::parse(
            "c-adpcm",
            "cd=/telecomm/adpcm+<data/small.pcm+>out.adpcm+-v",
            Some("default"),
        );
        assert_eq!(run.argv, ["c-adpcm", "-v"]);
        assert_eq!(run.stdin, Some("data/small.pcm"));
        assert_eq!(run.stdout, Some("out.adpcm"));
        assert_eq!(run.cwd, Some("/telecomm/adpcm"));
    }

    #[test]
    fn plain_arguments_and_the_default_stdin_stay() {
        let run = Invocation::parse("sha", "input_small.asc+<+>", Some("in.txt"));
        // A lone `<` or `>` is an argument like any other.
        assert_eq!(run.argv, ["sha", "input_small.asc", "<", ">"]);
        assert_eq!(run.stdin, Some("in.txt"));
        assert_eq!(run.stdout, None);
        assert_eq!(run.cwd, None);
    }
}
