// Command devcerts writes a development CA, a localhost server certificate
// and client certificates for each role (make certs).
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/tierspayant/tierspayant/internal/devcerts"
)

func main() {
	dir := flag.String("dir", ".tmp/certs", "output folder")
	flag.Parse()
	if err := devcerts.WriteDevSet(*dir, time.Now(), devcerts.DefaultClients()); err != nil {
		fmt.Fprintln(os.Stderr, "devcerts:", err)
		os.Exit(1)
	}
	fmt.Print(devcerts.Describe(*dir, devcerts.DefaultClients()))
}
