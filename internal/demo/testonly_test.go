package demo

// What only the tests call: nothing in the outflow binary reaches it
// (deadcode -test ./... in scripts/test keeps it that way).

// Device returns the device with the given hostname, or nil.
func (t *Truth) Device(hostname string) *DeviceTruth {
	for i := range t.Devices {
		if t.Devices[i].Hostname == hostname {
			return &t.Devices[i]
		}
	}
	return nil
}
