"""The example project's own stage code: what a user replaces with theirs."""
