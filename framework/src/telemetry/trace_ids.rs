//! Trace and span ids for every span when no span is exported.
//!
//! Without an OTLP endpoint nothing leaves the process but a span's W3C trace context: the
//! `traceparent` sent on outgoing calls and events, and `trace_id`/`span_id` in log lines.
//! `tracing-opentelemetry`'s layer would still build a full OpenTelemetry span per `tracing`
//! span (attributes from every recorded field, name, start and end times, the `SpanData` built
//! at close) only to drop it, about 10,000 instructions per request (docs/performance.md). No
//! crate offers ids without the span, so this layer keeps only the ids, with the SDK's own id
//! generator and sampler: a child span continues its parent's trace with the parent's sampled
//! flag and trace state (the SDK's default `ParentBased` sampling), a root span starts a new
//! trace sampled by the root sampler (always, or `telemetry.sample_ratio`), and a remote parent
//! from `traceparent` replaces the trace the span started with. The ids are the same kind the
//! OpenTelemetry layer gives; with an exporter that layer is installed instead, unchanged.

use opentelemetry::trace::{
    SpanContext, SpanId, SpanKind, TraceContextExt, TraceFlags, TraceId, TraceState,
};
use opentelemetry_sdk::trace::{
    IdGenerator, RandomIdGenerator, Sampler, SamplingDecision, ShouldSample,
};
use tracing::span::{Attributes, Id};
use tracing::{Span, Subscriber};
use tracing_subscriber::Registry;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::{LookupSpan, SpanData};

/// The W3C trace context of one span, kept in its extensions.
#[derive(Debug, Clone)]
struct TraceIds(SpanContext);

/// Layer giving every span a trace and a span id (see the module documentation).
#[derive(Debug)]
pub(super) struct TraceIdsLayer {
    /// Decides whether a new trace (a span without a parent) is sampled.
    root: Sampler,
    ids: RandomIdGenerator,
}

impl TraceIdsLayer {
    /// A layer sampling new traces by `ratio` (0.0 to 1.0), or all of them.
    pub(super) fn new(ratio: Option<f64>) -> Self {
        Self {
            root: ratio.map_or(Sampler::AlwaysOn, Sampler::TraceIdRatioBased),
            ids: RandomIdGenerator::default(),
        }
    }

    /// The context of a new trace: a fresh trace id, sampled as the root sampler decides.
    fn new_trace(&self) -> (TraceId, TraceFlags, TraceState) {
        let trace_id = self.ids.new_trace_id();
        let result = self
            .root
            .should_sample(None, trace_id, "", &SpanKind::Internal, &[], &[]);
        let flags = match result.decision {
            SamplingDecision::RecordAndSample => TraceFlags::SAMPLED,
            SamplingDecision::Drop | SamplingDecision::RecordOnly => TraceFlags::default(),
        };
        (trace_id, flags, result.trace_state)
    }
}

impl<S> Layer<S> for TraceIdsLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, _attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let parent = span
            .parent()
            .and_then(|parent| {
                parent
                    .extensions()
                    .get::<TraceIds>()
                    .map(|ids| ids.0.clone())
            })
            // As `tracing-opentelemetry` does, a span without a parent span continues a context
            // the application attached with `opentelemetry::Context::attach`, if any.
            .or_else(|| {
                let current = opentelemetry::Context::current();
                let sc = current.span().span_context().clone();
                sc.is_valid().then_some(sc)
            });
        let (trace_id, flags, state) = match parent {
            Some(sc) => (sc.trace_id(), sc.trace_flags(), sc.trace_state().clone()),
            None => self.new_trace(),
        };
        let context = SpanContext::new(trace_id, self.ids.new_span_id(), flags, false, state);
        span.extensions_mut().insert(TraceIds(context));
    }
}

/// Runs `f` on the ids `span` got from [`TraceIdsLayer`]; `None` when the span is disabled or
/// the installed subscriber has no such layer (an exporter is configured, or the application
/// installed its own subscriber).
fn with_ids<R>(span: &Span, f: impl FnOnce(&mut TraceIds) -> R) -> Option<R> {
    span.with_subscriber(|(id, dispatch)| {
        let registry = dispatch.downcast_ref::<Registry>()?;
        let data = registry.span_data(id)?;
        let mut extensions = data.extensions_mut();
        extensions.get_mut::<TraceIds>().map(f)
    })
    .flatten()
}

/// The trace context `span` got from [`TraceIdsLayer`], if it has one.
pub(super) fn span_context(span: &Span) -> Option<SpanContext> {
    with_ids(span, |ids| ids.0.clone())
}

/// The trace and span ids `span` got from [`TraceIdsLayer`], if it has them.
pub(super) fn ids_of(span: &Span) -> Option<(TraceId, SpanId)> {
    with_ids(span, |ids| (ids.0.trace_id(), ids.0.span_id()))
}

/// Moves `span` into the trace of `remote` (a valid context from `traceparent`), keeping its
/// span id; its sampled flag and trace state become the caller's. Returns `false` when `span`
/// has no ids from [`TraceIdsLayer`]. Spans created inside `span` before the call keep the
/// trace it started with, as with `OpenTelemetrySpanExt::set_parent`.
pub(super) fn set_remote_parent(span: &Span, remote: &SpanContext) -> bool {
    with_ids(span, |ids| {
        ids.0 = SpanContext::new(
            remote.trace_id(),
            ids.0.span_id(),
            remote.trace_flags(),
            false,
            remote.trace_state().clone(),
        );
    })
    .is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::layer::SubscriberExt;

    fn with_layer(ratio: Option<f64>, f: impl FnOnce()) {
        let subscriber = tracing_subscriber::registry().with(TraceIdsLayer::new(ratio));
        tracing::subscriber::with_default(subscriber, f);
    }

    #[test]
    fn a_child_continues_its_parents_trace_with_its_own_span_id() {
        with_layer(None, || {
            let root = tracing::info_span!("root");
            let child = root.in_scope(|| tracing::info_span!("child"));
            let explicit = tracing::info_span!(parent: &root, "explicit");
            let root_cx = span_context(&root).expect("root has ids");
            let child_cx = span_context(&child).expect("child has ids");
            let explicit_cx = span_context(&explicit).expect("explicit child has ids");

            assert!(root_cx.is_valid() && root_cx.is_sampled());
            assert_eq!(child_cx.trace_id(), root_cx.trace_id());
            assert_eq!(explicit_cx.trace_id(), root_cx.trace_id());
            assert_ne!(child_cx.span_id(), root_cx.span_id());
            assert_ne!(explicit_cx.span_id(), child_cx.span_id());
            assert!(child_cx.is_sampled());
        });
    }

    #[test]
    fn separate_roots_start_separate_traces() {
        with_layer(None, || {
            let a = span_context(&tracing::info_span!("a")).expect("ids");
            let b = span_context(&tracing::info_span!("b")).expect("ids");
            assert_ne!(a.trace_id(), b.trace_id());
        });
    }

    #[test]
    fn a_remote_parent_replaces_the_trace_and_its_flags_reach_children() {
        with_layer(None, || {
            let span = tracing::info_span!("request");
            let own = span_context(&span).expect("ids").span_id();
            let remote = SpanContext::new(
                TraceId::from(0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736),
                opentelemetry::trace::SpanId::from(0x00f0_67aa_0ba9_02b7),
                TraceFlags::default(),
                true,
                TraceState::from_key_value([("vendor", "v1")]).expect("valid trace state"),
            );

            assert!(set_remote_parent(&span, &remote));
            let cx = span_context(&span).expect("ids");
            assert_eq!(cx.trace_id(), remote.trace_id());
            assert_eq!(cx.span_id(), own, "the span keeps its own id");
            assert!(
                !cx.is_sampled(),
                "the caller's decision not to sample is kept"
            );
            assert_eq!(cx.trace_state().get("vendor"), Some("v1"));

            let child = span.in_scope(|| tracing::info_span!("child"));
            let child_cx = span_context(&child).expect("ids");
            assert_eq!(child_cx.trace_id(), remote.trace_id());
            assert!(!child_cx.is_sampled());
        });
    }

    #[test]
    fn a_zero_ratio_leaves_new_traces_unsampled_but_with_ids() {
        with_layer(Some(0.0), || {
            let cx = span_context(&tracing::info_span!("root")).expect("ids");
            assert!(cx.is_valid());
            assert!(!cx.is_sampled());
        });
    }

    #[test]
    fn without_the_layer_there_are_no_ids() {
        let subscriber = tracing_subscriber::registry();
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("request");
            assert!(span_context(&span).is_none());
            assert!(!set_remote_parent(&span, &SpanContext::empty_context()));
        });
    }
}
