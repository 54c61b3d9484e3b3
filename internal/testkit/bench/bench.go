// Package bench measures failovers on the simulated EC2 with realistic
// latencies on a discrete-event clock (see docs/benchmarks.md). Its
// benchmarks are run by `make bench`.
package bench
