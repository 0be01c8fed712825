//! One long series cut for **stateful truncated BPTT** (the post's long-series regime,
//! Keras `stateful=True`): the (input, target) pairs of the series are split into `B`
//! contiguous streams of equal length, and each stream into windows of `K` steps. Row `i`
//! of window `n + 1` continues row `i` of window `n`, so a model that carries row `i`'s
//! state from window to window sees stream `i` as one unbroken sequence, while gradients
//! stop at window boundaries.
//!
//! Pairs: the input at step `t` is `v[t]`, its target the next `horizon` values
//! `v[t + 1 ..= t + horizon]`, so `L` values give `L - horizon` pairs. When that count is
//! not a multiple of `B`, the last `(L - horizon) mod B` pairs are left out (every row of
//! a batch has the same length, as Keras requires); [`StatefulStreams::summary`] names them.
//! The last window of each stream is shorter when the stream length is not a multiple of
//! `K` (all rows alike), so nothing else is dropped.

use anyhow::{Result, bail};

/// The streams and windows of a series (see the module docs).
#[derive(Clone, Debug, PartialEq)]
pub struct StatefulStreams {
    /// The series' values.
    values: Vec<f32>,
    /// `B`, parallel streams (batch rows).
    pub streams: usize,
    /// `K`, steps per window.
    pub window: usize,
    /// Values each target holds (1: the next value).
    pub horizon: usize,
    /// Pairs per stream, `floor((L - horizon) / B)`.
    pub stream_len: usize,
    /// Pairs left out at the end of the series, `(L - horizon) mod B`.
    pub dropped: usize,
}

impl StatefulStreams {
    /// Cuts `values` into `streams` streams and windows of `window` steps.
    ///
    /// # Errors
    /// `streams`, `window` or `horizon` zero, or the series too short for one pair per
    /// stream (the message gives the counts).
    pub fn new(values: &[f32], streams: usize, window: usize, horizon: usize) -> Result<Self> {
        if streams == 0 || window == 0 || horizon == 0 {
            bail!("--batch, --window and the horizon must be at least 1");
        }
        let pairs = values.len().saturating_sub(horizon);
        if pairs < streams {
            bail!(
                "{} values give {pairs} (input, next {horizon}) pair(s), fewer than the {streams} \
                 streams of --batch {streams}: use a smaller --batch",
                values.len()
            );
        }
        Ok(Self {
            values: values.to_vec(),
            streams,
            window,
            horizon,
            stream_len: pairs / streams,
            dropped: pairs % streams,
        })
    }

    /// Windows per stream, `ceil(stream_len / K)`.
    pub fn windows(&self) -> usize {
        self.stream_len.div_ceil(self.window)
    }

    /// Window `n` (`0..windows()`): for each stream `i`, its inputs `[steps]` and targets
    /// `[steps][horizon]`, with `steps = min(K, stream_len - n K)`.
    pub fn window_rows(&self, n: usize) -> Vec<(Vec<f32>, Vec<Vec<f32>>)> {
        let start = n * self.window;
        let end = (start + self.window).min(self.stream_len);
        (0..self.streams)
            .map(|i| {
                let base = i * self.stream_len;
                let ts = base + start..base + end.max(start);
                let xs = ts.clone().map(|t| self.values[t]).collect();
                let ys = ts
                    .map(|t| self.values[t + 1..=t + self.horizon].to_vec())
                    .collect();
                (xs, ys)
            })
            .collect()
    }

    /// A line for the user: how the series was cut and what was left out.
    pub fn summary(&self) -> String {
        let pairs = self.values.len() - self.horizon;
        let mut s = format!(
            "{} values -> {pairs} (input, next {}) pairs -> {} streams of {} steps, windows of {} \
             ({} per stream",
            self.values.len(),
            self.horizon,
            self.streams,
            self.stream_len,
            self.window,
            self.windows()
        );
        if !self.stream_len.is_multiple_of(self.window) {
            s.push_str(&format!(", the last of {}", self.stream_len % self.window));
        }
        s.push(')');
        if self.dropped > 0 {
            s.push_str(&format!(
                "; the last {} pair(s) are left out ({pairs} is not a multiple of --batch {}: \
                 every row of a batch has the same length)",
                self.dropped, self.streams
            ));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The airline series' size: 144 monthly values, 4 streams, windows of 12.
    #[test]
    fn rows_continue_across_windows_and_the_remainder_is_named() {
        let v: Vec<f32> = (0..144).map(|t| t as f32).collect();
        let s = StatefulStreams::new(&v, 4, 12, 1).unwrap();
        assert_eq!((s.stream_len, s.dropped, s.windows()), (35, 3, 3));
        let w0 = s.window_rows(0);
        let w1 = s.window_rows(1);
        let w2 = s.window_rows(2);
        for i in 0..4 {
            // Row i of the next window starts where row i of this one ended.
            assert_eq!(w1[i].0[0], w0[i].0[11] + 1.0);
            assert_eq!(w2[i].0.len(), 11, "the last window is 35 - 24 = 11 steps");
            assert_eq!(w0[i].0[0], (35 * i) as f32);
            // Each target is the next value.
            assert!(
                w0[i]
                    .0
                    .iter()
                    .zip(&w0[i].1)
                    .all(|(x, y)| y == &vec![x + 1.0])
            );
        }
        let text = s.summary();
        assert!(
            text.contains("143 (input, next 1) pairs")
                && text.contains("4 streams of 35 steps")
                && text.contains("the last of 11")
                && text.contains("the last 3 pair(s) are left out"),
            "{text}"
        );
    }

    #[test]
    fn a_longer_horizon_and_bad_settings() {
        let v: Vec<f32> = (0..10).map(|t| t as f32).collect();
        let s = StatefulStreams::new(&v, 2, 3, 2).unwrap();
        assert_eq!((s.stream_len, s.dropped), (4, 0));
        assert_eq!(s.window_rows(0)[1].1[0], vec![5.0, 6.0]);
        assert!(!s.summary().contains("left out"));
        let e = format!("{:#}", StatefulStreams::new(&v, 9, 3, 2).unwrap_err());
        assert!(
            e.contains("8 (input, next 2) pair(s)") && e.contains("--batch 9"),
            "{e}"
        );
        assert!(StatefulStreams::new(&v, 0, 3, 1).is_err());
    }
}
