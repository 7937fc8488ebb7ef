package querylogsink

import "context"

var ctxBackground = context.Background()
