#!/bin/bash
# Deliberately fails: run by tests/vm/test-harness-fails.sh to prove that a
# failing scenario fails the test and shows the guest log.
echo "vtest-marker: this scenario exits 1 on purpose"
exit 1
