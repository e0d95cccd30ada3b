// Package streamtest is an in-process Stream Chat emulator.
package streamtest
