#!/bin/bash
# Deliberately dies of a signal while a process it started still holds its
# output: run by tests/vm/test-harness-fails.sh to prove that the harness
# reports that at once, not after the guest's whole timeout.
echo "vtest-marker: this scenario is killed on purpose"
sleep 600 &
kill -KILL $$
