#!/bin/sh
# Writes an empty report: run --request R --report P
: > "$5"
