// Package emf encodes CloudWatch embedded metric format (EMF) records: a
// JSON log line that CloudWatch Logs turns into metrics, with no
// PutMetricData call and no extra permission.
package emf

import (
	"encoding/json"
	"time"

	"github.com/eni-failover/eni-failover/internal/envvar"
)

// DefaultNamespace is the CloudWatch namespace of every metric written.
const DefaultNamespace = "ENIFailover"

// EnvNamespace names the variable that overrides the namespace, read by
// every function that writes metrics.
const EnvNamespace = "METRICS_NAMESPACE"

// NamespaceVar documents EnvNamespace.
var NamespaceVar = envvar.Var{Name: EnvNamespace, Default: DefaultNamespace, Meaning: "CloudWatch namespace of the embedded-metric-format lines"}

// Metric names one value of a record and its unit.
type Metric struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

// Record returns one EMF line (without the newline): fields carries the
// dimension values, the metric values and any other property; dimensions
// lists the dimension sets ([]string{} is the total over all).
func Record(namespace string, at time.Time, dimensions [][]string, metrics []Metric, fields map[string]any) ([]byte, error) {
	line := make(map[string]any, len(fields)+1)
	for k, v := range fields {
		line[k] = v
	}
	line["_aws"] = map[string]any{
		"Timestamp": at.UnixMilli(),
		"CloudWatchMetrics": []any{map[string]any{
			"Namespace":  namespace,
			"Dimensions": dimensions,
			"Metrics":    metrics,
		}},
	}
	return json.Marshal(line)
}
