//! The desk's figures for monitoring, in the Prometheus text format: questions by channel and
//! decision, answering latency, relay failures (counted as they happen, per process), and open and
//! overdue tickets and the index in service (read when scraped, so every process reports the same).

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
};

/// Latency buckets in seconds: answering takes about a millisecond; a locked store, much longer.
const LATENCY_BUCKETS: [f64; 12] = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5];

/// What the desk counts. One per desk (per process).
pub struct Metrics {
    registry: Registry,
    questions: IntCounterVec,
    latency: HistogramVec,
    relay_failures: IntCounter,
    open_tickets: IntGauge,
    overdue_tickets: IntGauge,
    index_entries: IntGauge,
    index_info: IntGaugeVec,
}

/// Figures read from the store and the index when the metrics are scraped.
pub struct Snapshot {
    /// -1 when the store could not be read.
    pub open_tickets: i64,
    pub overdue_tickets: i64,
    pub index_entries: usize,
    pub index_fingerprint: String,
}

impl Default for Metrics {
    fn default() -> Self {
        let registry = Registry::new_custom(Some("customs_bot".into()), None).expect("a valid prefix");
        let questions = IntCounterVec::new(
            Opts::new("questions_total", "Questions answered, by channel and decision"),
            &["channel", "decision"],
        )
        .expect("valid metric");
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "answer_latency_seconds",
                "Time from a question to its reply being ready",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["channel"],
        )
        .expect("valid metric");
        let relay_failures = IntCounter::new(
            "relay_failures_total",
            "Operators' answers that could not be delivered (retried later)",
        )
        .expect("valid metric");
        let open_tickets = IntGauge::new("open_tickets", "Tickets waiting for an operator").expect("valid metric");
        let overdue_tickets =
            IntGauge::new("overdue_tickets", "Open tickets past [operators] overdue_hours").expect("valid metric");
        let index_entries =
            IntGauge::new("index_entries", "Entries in the index generation in service").expect("valid metric");
        let index_info = IntGaugeVec::new(
            Opts::new(
                "index_info",
                "The index generation in service (its knowledge fingerprint)",
            ),
            &["fingerprint"],
        )
        .expect("valid metric");
        for m in [
            Box::new(questions.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(latency.clone()),
            Box::new(relay_failures.clone()),
            Box::new(open_tickets.clone()),
            Box::new(overdue_tickets.clone()),
            Box::new(index_entries.clone()),
            Box::new(index_info.clone()),
        ] {
            registry.register(m).expect("each metric registered once");
        }
        Self {
            registry,
            questions,
            latency,
            relay_failures,
            open_tickets,
            overdue_tickets,
            index_entries,
            index_info,
        }
    }
}

impl Metrics {
    /// One question answered on `channel` with `decision`, taking `seconds`.
    pub fn question(&self, channel: &str, decision: &str, seconds: f64) {
        self.questions.with_label_values(&[channel, decision]).inc();
        self.latency.with_label_values(&[channel]).observe(seconds);
    }

    /// An operator's answer could not be delivered.
    pub fn relay_failed(&self) {
        self.relay_failures.inc();
    }

    /// Everything in the text exposition format, with the snapshot's figures.
    pub fn render(&self, s: &Snapshot) -> String {
        self.open_tickets.set(s.open_tickets);
        self.overdue_tickets.set(s.overdue_tickets);
        self.index_entries.set(s.index_entries as i64);
        self.index_info.reset();
        self.index_info
            .with_label_values(&[s.index_fingerprint.as_str()])
            .set(1);
        let mut out = Vec::new();
        prometheus::TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .expect("text encoding into memory does not fail");
        String::from_utf8(out).expect("the text format is UTF-8")
    }
}

/// Whether this process can serve: the store answers and an index generation is in service.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Readiness {
    pub ready: bool,
    pub store: bool,
    pub index_entries: usize,
    pub index_fingerprint: String,
    pub index_built_at: String,
    /// The generation in service (`gen-…`).
    pub index_generation: String,
    /// The generation last published, as the store names it for every process (null when none was
    /// recorded or the store did not answer); the index watcher switches to it.
    pub live_generation: Option<String>,
}

impl super::Desk {
    /// Readiness for a load balancer (`/readyz`): the store is asked for the live generation.
    pub async fn readiness(&self) -> Readiness {
        let live = self.store("check the store", |st| st.live_generation()).await;
        let store = live.is_some();
        let index = self.assistant.index();
        let meta = index.meta();
        Readiness {
            ready: store && !index.entries().is_empty(),
            store,
            index_entries: index.entries().len(),
            index_fingerprint: meta.fingerprint.clone(),
            index_built_at: meta.built_at.clone(),
            index_generation: index.generation_name(),
            live_generation: live.flatten(),
        }
    }

    /// The metrics in the Prometheus text format (`/metrics`). Ticket figures come from the store
    /// (shared by every process); when it cannot be read they are reported as -1.
    pub async fn metrics_text(&self) -> String {
        let cases = self.cases.clone();
        let tickets = self
            .store("count the open tickets", move |_| {
                let now = chrono::Utc::now();
                let open = cases.store().tickets(Some(crate::tickets::TicketState::Open))?;
                let overdue = open.iter().filter(|t| cases.is_overdue(t, now)).count();
                Ok((open.len(), overdue))
            })
            .await;
        let index = self.assistant.index();
        let (open_tickets, overdue_tickets) = tickets.map_or((-1, -1), |(o, d)| (o as i64, d as i64));
        self.metrics.render(&Snapshot {
            open_tickets,
            overdue_tickets,
            index_entries: index.entries().len(),
            index_fingerprint: index.meta().fingerprint.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn questions_latency_and_snapshot_are_rendered() {
        let m = Metrics::default();
        m.question("telegram", "answer", 0.0008);
        m.question("telegram", "answer", 0.003);
        m.question("web", "handoff", 0.0004);
        m.relay_failed();
        let text = m.render(&Snapshot {
            open_tickets: 3,
            overdue_tickets: 1,
            index_entries: 245,
            index_fingerprint: "abc123".into(),
        });
        assert!(
            text.contains(r#"customs_bot_questions_total{channel="telegram",decision="answer"} 2"#),
            "{text}"
        );
        assert!(text.contains(r#"customs_bot_questions_total{channel="web",decision="handoff"} 1"#));
        assert!(text.contains(r#"customs_bot_answer_latency_seconds_bucket{channel="telegram",le="0.001"} 1"#));
        assert!(text.contains(r#"customs_bot_answer_latency_seconds_count{channel="telegram"} 2"#));
        assert!(text.contains("customs_bot_relay_failures_total 1"));
        assert!(text.contains("customs_bot_open_tickets 3"));
        assert!(text.contains("customs_bot_overdue_tickets 1"));
        assert!(text.contains(r#"customs_bot_index_info{fingerprint="abc123"} 1"#));
    }
}
