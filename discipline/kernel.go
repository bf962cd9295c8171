package discipline

import "time"

// KernelInfo is the kernel clock's whole state as adjtimex reports it,
// read without changing anything: what ntpq -c kerninfo shows.
type KernelInfo struct {
	Offset          time.Duration // the kernel PLL's remaining offset
	FrequencyPPM    float64
	MaxError        time.Duration
	EstError        time.Duration
	Status          uint32 // STA_* bits
	TimeConstant    int64
	Precision       time.Duration
	TolerancePPM    float64
	PPSFrequencyPPM float64
	PPSJitter       time.Duration
	PPSInterval     time.Duration // calibration interval
	PPSStabilityPPM float64
	PPSCalibrations int64
	PPSJitterErrors int64
	PPSStabErrors   int64
	PPSCalibErrors  int64
}
