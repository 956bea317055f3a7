//! How a group is set up from its run and the image's build settings: whether FP/SIMD state is
//! captured at every event, and how replica memory is tracked for repair and rollback.

use romain_memory::Tracking;

/// What the group's build settings say (the image's `FP=`, `FLOAT=`, `REPAIR=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Build<'a> {
    /// `FP`: `on`, `off` or `auto`.
    pub fp: &'a str,
    /// Native programs were built hard-float (`FLOAT=hard`).
    pub hard_float: bool,
    /// `REPAIR=written` (write tracking) instead of `all`.
    pub written: bool,
}

/// A group's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// FP/SIMD state captured at every event (compared, repaired, rolled back).
    pub fp: bool,
    pub tracking: Tracking,
    /// The summary's `repair`: `written` or `all`.
    pub repair: &'static str,
    /// A Linux program under DMR without FP/SIMD capture: its FP/SIMD registers cannot be rolled
    /// back, so DMR detects and stops (fail-stop).
    pub fail_stop: bool,
}

/// The settings of a group of `replicas` running a Linux program (`linux`) or a native one.
pub fn settings(replicas: usize, linux: bool, build: Build<'_>) -> Settings {
    // FP/SIMD state is captured where programs use it: Linux programs (any C compiler's code),
    // native ones built hard-float, or every program with FP=on. Unreplicated runs compare
    // nothing.
    let fp = replicas > 1
        && match build.fp {
            "on" => true,
            "off" => false,
            _ => linux || build.hard_float,
        };
    let written = build.written;
    let tracking = match replicas {
        1 => Tracking::Off,
        2 if linux && !fp && written => Tracking::Writes,
        2 if linux && !fp => Tracking::Off,
        2 if written => Tracking::Checkpoints,
        2 => Tracking::Snapshots,
        _ if written => Tracking::Writes,
        _ => Tracking::Off,
    };
    Settings {
        fp,
        tracking,
        repair: if written && replicas > 1 {
            "written"
        } else {
            "all"
        },
        fail_stop: replicas == 2 && linux && !fp,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AUTO: Build<'static> = Build {
        fp: "auto",
        hard_float: false,
        written: false,
    };

    #[test]
    fn linux_programs_and_hard_float_ones_capture_under_replication_only() {
        assert!(settings(3, true, AUTO).fp);
        assert!(settings(2, true, AUTO).fp);
        assert!(!settings(1, true, AUTO).fp, "nothing to compare");
        assert!(!settings(3, false, AUTO).fp, "soft-float native");
        let hard = Build {
            hard_float: true,
            ..AUTO
        };
        assert!(settings(3, false, hard).fp);
        let on = Build { fp: "on", ..AUTO };
        let off = Build { fp: "off", ..AUTO };
        assert!(settings(2, false, on).fp);
        assert!(!settings(3, true, off).fp);
    }

    #[test]
    fn dmr_keeps_checkpoints_unless_a_linux_program_cannot_be_rolled_back() {
        let written = Build {
            written: true,
            ..AUTO
        };
        let off = Build { fp: "off", ..AUTO };
        assert_eq!(settings(2, false, AUTO).tracking, Tracking::Snapshots);
        assert_eq!(settings(2, false, written).tracking, Tracking::Checkpoints);
        assert_eq!(settings(2, true, AUTO).tracking, Tracking::Snapshots);
        let s = settings(2, true, off);
        assert_eq!((s.tracking, s.fail_stop), (Tracking::Off, true));
        let s = settings(
            2,
            true,
            Build {
                written: true,
                ..off
            },
        );
        assert_eq!((s.tracking, s.fail_stop), (Tracking::Writes, true));
        assert!(!settings(2, true, AUTO).fail_stop);
    }

    #[test]
    fn tmr_tracks_writes_only_when_asked_and_one_replica_tracks_nothing() {
        let written = Build {
            written: true,
            ..AUTO
        };
        assert_eq!(settings(3, false, AUTO).tracking, Tracking::Off);
        assert_eq!(settings(3, false, written).tracking, Tracking::Writes);
        assert_eq!(settings(1, false, written).tracking, Tracking::Off);
        assert_eq!(settings(1, false, written).repair, "all");
        assert_eq!(settings(3, true, written).repair, "written");
    }
}
