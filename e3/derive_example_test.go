package e3_test

import (
	"encoding/base64"
	"fmt"

	"github.com/e3go/e3go/e3"
)

// The backup password as e3kit apps pass it to backupPrivateKey: the
// standard base64 of DerivePasswords' second half. These are the strings
// e3kit's own test suite expects of derivePasswords("password").
func ExampleDerivePasswords() {
	login, backup := e3.DerivePasswords("password")
	fmt.Println(base64.StdEncoding.EncodeToString(login))  // to the app's backend
	fmt.Println(base64.StdEncoding.EncodeToString(backup)) // to BackupPrivateKey
	// Output:
	// 8AfkqegTXFuyufUkwZ7u9s6x8xc9CjtZANqIjmueS40=
	// R/NHBt3Bv4ZIRPNEFirMH5GnRS1F/Rz64mYq1f+g+aU=
}
