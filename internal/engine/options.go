package engine

import "time"

// Options tune the engine. Zero values take the defaults below.
type Options struct {
	TagPrefix string
	// DeviceIndex the ENI is attached at (default 1). It must be free on a
	// standby: the OS names the interface after it, and the token server's
	// configuration depends on that name.
	DeviceIndex int32
	// AllowStartStopped starts a stopped member when no running one can
	// take the ENI. Off by default: an operator may have stopped it.
	AllowStartStopped bool
	// Allowed pins membership: when not empty, only these instances are
	// ever given the ENI, whatever their tags say (anyone who may tag an
	// instance could otherwise join a group and, as its home, receive
	// the licensed MAC).
	Allowed []string
	// Cooldown keeps a member that failed from being chosen again, except
	// as a last resort or by an operator (default 15 min).
	Cooldown time.Duration
	// HealthLead is how long before a scheduled AWS Health change the
	// ENI leaves a holder it names (default 30 min): the reconcile moves
	// it from then on; an event whose start is nearer moves it at once.
	HealthLead time.Duration
	// MaxAutomaticMoves caps the automatic moves off a holder per group
	// and hour; 0 means no cap, as it does in MAX_AUTOMATIC_MOVES and the
	// CDK's maxAutomaticMovesPerHour, which carry the default of 3. Beyond
	// it the automation only notifies until an operator acts
	// (model.AutomaticMovesCapped).
	MaxAutomaticMoves int
	// VisibleWithin is how long a pause or an operator's request waits for
	// EC2's Describe to show its journal write before answering (default
	// 10 s; EC2's tags are eventually consistent).
	VisibleWithin time.Duration
	// GracefulDetachWait is how long a graceful detach may stay in
	// detaching before a force detach (default 8 s).
	GracefulDetachWait time.Duration
	// PollInitial is the polling interval while EC2 transitions (default
	// 100 ms: the time to notice a finished transition is most of the
	// engine's overhead). After PollBackoffAfter (default 10 s) of one
	// wait it grows by PollFactor (1.5) up to PollMax (2 s).
	PollInitial      time.Duration
	PollBackoffAfter time.Duration
	PollMax          time.Duration
	PollFactor       float64
	// RetryBase and RetryMax bound the backoff after throttling and 5xx;
	// RetryAttempts is the number of tries of one call (default 100 ms,
	// 3 s, 8).
	RetryBase     time.Duration
	RetryMax      time.Duration
	RetryAttempts int
	// DeadlineMargin is kept free before the context deadline to report
	// and return cleanly (default 1.5 s).
	DeadlineMargin time.Duration
	// DetachRefusals is how many refused detaches (the attachment stays)
	// a run makes before it reports them (default 4); RefusalBackoff is
	// the pause after the first, doubling after each (default 500 ms).
	DetachRefusals int
	RefusalBackoff time.Duration
	// MaxSteps bounds one run's state-machine iterations (default 200).
	MaxSteps int
	// Activator, when set, (re)starts the token server on the new holder
	// after each move; its failure is reported, never answered by another
	// move.
	Activator CommandRunner
	// HolderTag keeps the license-holder tag (model.Tags.LicenseHolder) on
	// whichever member holds the group's ENI, and off the others: written
	// after the ENI is in place, and mended by the reconcile. FIS
	// experiments find the holder by it. Off by default: it costs one or
	// two more mutating calls per move.
	HolderTag bool
	// DeepCheck, when set, runs the vendor's status command (lmutil lmstat)
	// on each healthy holder during the scheduled reconcile: an exit code
	// other than 0, twice DeepCheckRetry apart, fails the holder over as a
	// probe finding would. Anything else (the agent unreachable, SSM
	// timing out) is logged and moves nothing.
	DeepCheck      CommandRunner
	DeepCheckRetry time.Duration
	// MaxConcurrentMoves bounds the runs of one process that change EC2 at
	// the same time (default 20): EC2 meters AttachNetworkInterface and
	// DetachNetworkInterface in buckets of 50 requests refilled at 5 a
	// second per account, shared with every other tool of the account.
	MaxConcurrentMoves int
	// SweepInterval is how often a conductor (Conduct) reads the fleet
	// while its runs are in flight (default 1 s).
	SweepInterval time.Duration
	// Jitter spreads a retry delay (default: uniformly over [d/2, d)); a
	// seeded one makes simulated histories repeatable.
	Jitter func(time.Duration) time.Duration
}

func (o Options) withDefaults() Options {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if o.DeviceIndex <= 0 {
		o.DeviceIndex = 1
	}
	def(&o.Cooldown, 15*time.Minute)
	def(&o.VisibleWithin, 10*time.Second)
	def(&o.DeepCheckRetry, 5*time.Second)
	def(&o.GracefulDetachWait, 8*time.Second)
	def(&o.HealthLead, 30*time.Minute)
	def(&o.PollInitial, 100*time.Millisecond)
	def(&o.PollBackoffAfter, 10*time.Second)
	def(&o.PollMax, 2*time.Second)
	if o.PollFactor < 1 {
		o.PollFactor = 1.5
	}
	def(&o.RetryBase, 100*time.Millisecond)
	def(&o.RetryMax, 3*time.Second)
	if o.RetryAttempts <= 0 {
		o.RetryAttempts = 8
	}
	def(&o.DeadlineMargin, 1500*time.Millisecond)
	if o.DetachRefusals <= 0 {
		o.DetachRefusals = 4
	}
	def(&o.RefusalBackoff, DefaultRefusalBackoff)
	if o.MaxSteps <= 0 {
		o.MaxSteps = 200
	}
	if o.MaxConcurrentMoves <= 0 {
		o.MaxConcurrentMoves = 20
	}
	def(&o.SweepInterval, time.Second)
	if o.Jitter == nil {
		o.Jitter = jitter
	}
	return o
}

// DefaultRefusalBackoff is the first pause after EC2 refuses a detach
// (Options.RefusalBackoff), doubling from there.
const DefaultRefusalBackoff = 500 * time.Millisecond
