//! A run's budget: a bound on how many events a group may decide and how long it may run, so
//! that a program that never ends (a loop making calls resets the silence bound at every event)
//! still ends, and the rest of the plan runs.

/// The bounds (0: unbounded).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Budget {
    /// Most events the group may decide.
    pub events: u64,
    /// Most counter ticks from the group's start, and the same in ms for messages.
    pub ticks: u64,
    pub ms: u64,
}

/// Which bound a run reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spent {
    Events(u64),
    Time { ms: u64 },
}

impl core::fmt::Display for Spent {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Spent::Events(n) => write!(
                f,
                "the run's budget of {n} events is spent: the program never ended (set it with MODE/events=N:APP)"
            ),
            Spent::Time { ms } => write!(
                f,
                "the run's budget of {ms} ms is spent: the program never ended (set it with MODE/ms=N:APP)"
            ),
        }
    }
}

impl Budget {
    /// Whether deciding event number `point` would go past the budget.
    pub fn before_event(&self, point: u64) -> Option<Spent> {
        (self.events > 0 && point > self.events).then_some(Spent::Events(self.events))
    }

    /// Whether the time is up at `now` for a group started at `start`.
    pub fn at(&self, start: u64, now: u64) -> Option<Spent> {
        (self.ticks > 0 && now.wrapping_sub(start) > self.ticks)
            .then_some(Spent::Time { ms: self.ms })
    }

    /// When a timer should wake the master to end the run.
    pub fn deadline(&self, start: u64) -> Option<u64> {
        (self.ticks > 0).then(|| start.saturating_add(self.ticks).saturating_add(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_past_the_budget_are_refused_and_zero_is_unbounded() {
        let b = Budget {
            events: 3,
            ..Budget::default()
        };
        assert_eq!(b.before_event(3), None);
        assert_eq!(b.before_event(4), Some(Spent::Events(3)));
        assert_eq!(Budget::default().before_event(u64::MAX), None);
        assert_eq!(Budget::default().at(0, u64::MAX), None);
        assert_eq!(Budget::default().deadline(5), None);
    }

    #[test]
    fn time_runs_from_the_start_and_the_deadline_is_just_past_it() {
        let b = Budget {
            ticks: 100,
            ms: 1,
            ..Budget::default()
        };
        assert_eq!(b.at(1000, 1100), None);
        assert_eq!(b.at(1000, 1101), Some(Spent::Time { ms: 1 }));
        assert_eq!(b.deadline(1000), Some(1101));
        // The counter may wrap; a start near the top does not end the run at once.
        assert_eq!(b.at(u64::MAX - 10, 5), None);
        assert_eq!(b.deadline(u64::MAX - 10), Some(u64::MAX));
        assert!(format!("{}", Spent::Events(9)).contains("9 events"));
    }
}
