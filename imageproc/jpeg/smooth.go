package jpeg

func (d *decoder) smoothingOK() bool { return false }

func (d *decoder) smoothComponent(c *component) {}
