// Package layers holds no code: its test keeps the rules of what each
// binary may link, so that the operator's command line stays free of the
// engine and the EC2 SDK, and the functions that move the ENI free of the
// probe's network code.
package layers
