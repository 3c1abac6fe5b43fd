#!/bin/sh
# Writes half a report: run --request R --report P
printf '%s' "{\"phase\":\"wri" > "$5"
