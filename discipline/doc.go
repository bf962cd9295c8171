// Package discipline steers a clock to GPS and PPS: outlier rejection, the
// control loop, steps, holdover, the drift file, leap seconds, and the
// publication of the served state.
package discipline
