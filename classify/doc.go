// Package classify derives a demand's type, urgency, importance, priority
// quadrant, responsible department and SLA due time, and records why.
//
// Classifier is the interface the engine calls; Basic is the first cut: it
// keeps what the input itself said (a questionnaire's own 紧急程度 or 类型
// answer, recorded by normalize with its reason), fills the configured
// defaults for the rest, derives importance from the customer tier, the
// priority quadrant from urgency × importance (demand.Quadrant), the
// department from the type, and the due time from the per-priority targets
// counted on a working-day Calendar. Every attribute it sets is explained by
// a demand.Reason on the record. The keyword rules engine will implement the
// same interface.
package classify
