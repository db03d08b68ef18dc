// Test only: the build flag SINKSTREAM_BREAK_KERNEL=<variant> defines SINKSTREAM_BROKEN
// for that one variant, which then scales its output by 1.01 (a 1% error the kernel
// checks of `sinkstream selftest` must catch and name). 1.0 in every normal build.
#ifdef SINKSTREAM_BROKEN
const float BROKEN_SCALE = 1.01;
#else
const float BROKEN_SCALE = 1.0;
#endif
