//! Latency histograms as Prometheus histograms. The node keeps its own bucket counts (they
//! travel in status reports over the wire), so they are encoded directly rather than through
//! prometheus-client's live `Histogram`.

use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;

use overlay::status::{LATENCY_BOUNDS_US, OpLatency};

/// One histogram per operation, labelled `op`.
#[derive(Debug)]
pub struct Latencies(pub Vec<OpLatency>);

impl EncodeMetric for Latencies {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        for l in &self.0 {
            let labels = vec![("op".to_string(), l.op.clone())];
            let mut buckets: Vec<(f64, u64)> = LATENCY_BOUNDS_US
                .iter()
                .zip(l.buckets.iter().chain(std::iter::repeat(&0)))
                .map(|(b, n)| (*b as f64 / 1e6, *n))
                .collect();
            // Reports may come from other nodes: counts need not add up, nor fit when added.
            let below = buckets.iter().fold(0u64, |a, (_, n)| a.saturating_add(*n));
            buckets.push((f64::MAX, l.count.saturating_sub(below)));
            encoder
                .encode_family(&labels)?
                .encode_histogram::<NoLabelSet>(l.sum_us as f64 / 1e6, l.count, &buckets, None)?;
        }
        Ok(())
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}
